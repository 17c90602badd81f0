package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// The servers below are the harness's own, started from the Debian packages
// (postgresql, redis-server) on loopback in a directory of its own, so that
// a fault (a restart, a failover) never touches a server that other tests
// share.

// freePort asks the kernel for a free loopback port.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// pgServer is a throwaway PostgreSQL cluster.
type pgServer struct {
	bin, dir string
	port     int
	asUser   bool // run pg_ctl as the user postgres (we are root)
}

// startPostgres runs initdb into a new directory and starts the server on
// a free port. The directory is made directly in the system's temporary
// directory, where the user postgres can reach it; Close removes it.
func startPostgres(ctx context.Context) (*pgServer, error) {
	bins, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	if len(bins) == 0 {
		return nil, errors.New("no PostgreSQL under /usr/lib/postgresql (apt-get install postgresql)")
	}
	sort.Slice(bins, func(i, j int) bool { return versionLess(bins[i], bins[j]) })
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "scaleout-pg-")
	if err != nil {
		return nil, err
	}
	p := &pgServer{bin: bins[len(bins)-1], dir: dir, port: port, asUser: os.Geteuid() == 0}
	if p.asUser {
		// initdb refuses root.
		u, err := user.Lookup("postgres")
		if err != nil {
			return nil, fmt.Errorf("user postgres: %w", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			_ = os.RemoveAll(dir)
			return nil, err
		}
	}
	if err := p.run(ctx, "initdb", "-D", dir, "-A", "trust", "-U", "postgres"); err != nil {
		_ = os.RemoveAll(dir)
		return nil, err
	}
	if err := p.start(ctx); err != nil {
		_ = os.RemoveAll(dir)
		return nil, err
	}
	return p, nil
}

func versionLess(a, b string) bool {
	va, _ := strconv.Atoi(filepath.Base(filepath.Dir(a)))
	vb, _ := strconv.Atoi(filepath.Base(filepath.Dir(b)))
	return va < vb
}

func (p *pgServer) run(ctx context.Context, tool string, args ...string) error {
	var cmd *exec.Cmd
	path := filepath.Join(p.bin, tool)
	if p.asUser {
		quoted := make([]string, len(args))
		for i, a := range args {
			quoted[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
		cmd = exec.CommandContext(ctx, "su", "postgres", "-c", path+" "+strings.Join(quoted, " "))
	} else {
		cmd = exec.CommandContext(ctx, path, args...)
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%s %s: %w: %s", tool, strings.Join(args, " "), err, out)
	}
	return nil
}

// URL is the server's connection URL.
func (p *pgServer) URL() string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", p.port)
}

// stop shuts the server down the way pg_ctl restart -m fast does first:
// open sessions are ended, transactions in flight roll back.
func (p *pgServer) stop(ctx context.Context) error {
	return p.run(ctx, "pg_ctl", "-D", p.dir, "-m", "fast", "-w", "stop")
}

// start starts the server (again) on its port, fsync off (a test server).
func (p *pgServer) start(ctx context.Context) error {
	opts := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200", p.port, p.dir)
	return p.run(ctx, "pg_ctl", "-D", p.dir, "-l", filepath.Join(p.dir, "server.log"), "-w", "-o", opts, "start")
}

// Close stops the server at once and removes its directory.
func (p *pgServer) Close() {
	_ = p.run(context.Background(), "pg_ctl", "-D", p.dir, "-m", "immediate", "-w", "stop")
	_ = os.RemoveAll(p.dir)
}

// redisServer is one redis-server child process.
type redisServer struct {
	dir  string
	port int
	args []string
	cmd  *exec.Cmd
	done chan struct{}
}

// errPortTaken is a server that could not listen on the port it was
// given: freePort's port was taken by another process in the meantime.
var errPortTaken = errors.New("port taken")

// portAttempts is how many fresh ports a server is tried on.
const portAttempts = 3

// startRedis starts redis-server on a free port with its data in dir. Its
// AOF is written every second (appendfsync everysec), and a restart is a
// SHUTDOWN, which syncs the AOF, so codes and limit counters survive it. A
// port taken before the server bound it is tried again on another.
func startRedis(ctx context.Context, dir string, extra ...string) (*redisServer, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	for attempt := 1; ; attempt++ {
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		r := &redisServer{dir: dir, port: port, args: append([]string{
			"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--dir", dir,
			"--save", "", "--appendonly", "yes", "--appendfsync", "everysec",
			"--logfile", filepath.Join(dir, "redis.log"),
		}, extra...)}
		err = r.start(ctx)
		if err == nil || !errors.Is(err, errPortTaken) || attempt == portAttempts {
			return r, err
		}
	}
}

func (r *redisServer) start(ctx context.Context) error {
	r.cmd = exec.Command("redis-server", r.args...)
	if err := r.cmd.Start(); err != nil {
		return fmt.Errorf("redis-server: %w", err)
	}
	r.done = make(chan struct{})
	go func() { _ = r.cmd.Wait(); close(r.done) }()
	c := redis.NewClient(&redis.Options{Addr: r.Addr(), MaxRetries: -1})
	defer c.Close()
	for {
		if err := c.Ping(ctx).Err(); err == nil {
			return nil
		}
		select {
		case <-r.done:
			log, _ := os.ReadFile(filepath.Join(r.dir, "redis.log"))
			last := lastLines(string(log), 5)
			_ = os.Remove(filepath.Join(r.dir, "redis.log")) // a retry's log starts afresh
			if strings.Contains(last, "Address already in use") {
				return fmt.Errorf("redis-server on %d: %w: %s", r.port, errPortTaken, last)
			}
			return fmt.Errorf("redis-server on %d exited: %s", r.port, last)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Addr is host:port.
func (r *redisServer) Addr() string { return "127.0.0.1:" + strconv.Itoa(r.port) }

// shutdown stops the server the way systemctl restart does (SHUTDOWN: the
// AOF is synced first) and waits for it to exit.
func (r *redisServer) shutdown(ctx context.Context) error {
	c := redis.NewClient(&redis.Options{Addr: r.Addr(), MaxRetries: -1})
	defer c.Close()
	_ = c.Shutdown(ctx).Err() // the connection closes under the command
	select {
	case <-r.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Close kills the server.
func (r *redisServer) Close() {
	if r.cmd != nil && r.cmd.Process != nil {
		_ = r.cmd.Process.Kill()
		<-r.done
	}
}

// redisCluster is 3 masters with a replica each.
type redisCluster struct{ nodes []*redisServer }

// startCluster starts six cluster-enabled nodes and joins them with
// redis-cli --cluster create, one replica per master.
func startCluster(ctx context.Context, dir string) (*redisCluster, error) {
	c := &redisCluster{}
	var addrs []string
	for i := range 6 {
		var n *redisServer
		for attempt := 1; ; attempt++ { // the bus port can be taken too
			bus, err := freePort()
			if err != nil {
				c.Close()
				return nil, err
			}
			nodeDir := filepath.Join(dir, fmt.Sprintf("node-%d", i))
			_ = os.Remove(filepath.Join(nodeDir, "nodes.conf")) // a failed attempt's
			n, err = startRedis(ctx, nodeDir,
				"--cluster-enabled", "yes", "--cluster-port", strconv.Itoa(bus),
				"--cluster-config-file", filepath.Join(nodeDir, "nodes.conf"),
				"--cluster-node-timeout", "2000",
				// Replicas sync at once (the default waits 5 s for more of them).
				"--repl-diskless-sync-delay", "0")
			if err == nil {
				break
			}
			if !errors.Is(err, errPortTaken) || attempt == portAttempts {
				c.Close()
				return nil, err
			}
		}
		c.nodes = append(c.nodes, n)
		addrs = append(addrs, n.Addr())
	}
	args := append(append([]string{"--cluster", "create"}, addrs...), "--cluster-replicas", "1", "--cluster-yes")
	if out, err := exec.CommandContext(ctx, "redis-cli", args...).CombinedOutput(); err != nil {
		c.Close()
		return nil, fmt.Errorf("redis-cli --cluster create: %w: %s", err, lastLines(string(out), 5))
	}
	if err := c.waitReady(ctx); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// Spec is the redis-cluster:// form the instances take.
func (c *redisCluster) Spec() string {
	var addrs []string
	for _, n := range c.nodes {
		addrs = append(addrs, n.Addr())
	}
	return "redis-cluster://" + strings.Join(addrs, ",")
}

// waitReady waits until every node serves all slots and sees 3 replicas,
// and every replica has synced with its master (a failover needs that).
func (c *redisCluster) waitReady(ctx context.Context) error {
	for _, n := range c.nodes {
		cl := redis.NewClient(&redis.Options{Addr: n.Addr(), MaxRetries: -1})
		for {
			info, _ := cl.ClusterInfo(ctx).Result()
			nodes, _ := cl.ClusterNodes(ctx).Result()
			role, _ := cl.Do(ctx, "ROLE").Slice()
			synced := len(role) > 0 && (role[0] == "master" || len(role) > 3 && role[3] == "connected")
			if strings.Contains(info, "cluster_state:ok") && strings.Count(nodes, "slave ") == 3 && synced {
				break
			}
			select {
			case <-ctx.Done():
				cl.Close()
				return fmt.Errorf("cluster node %s not ready: %w", n.Addr(), ctx.Err())
			case <-time.After(100 * time.Millisecond):
			}
		}
		cl.Close()
	}
	return nil
}

// failover runs CLUSTER FAILOVER on a replica (Redis's coordinated manual
// failover: the master stops taking writes, the replica catches up and takes
// its slots) and waits until the replica is a master. It answers the
// replica's and its old master's addresses.
func (c *redisCluster) failover(ctx context.Context) (replica, master string, err error) {
	for _, n := range c.nodes {
		cl := redis.NewClient(&redis.Options{Addr: n.Addr(), MaxRetries: -1})
		role, err := cl.Do(ctx, "ROLE").Slice()
		if err != nil || len(role) < 3 || role[0] != "slave" {
			cl.Close()
			continue
		}
		master = fmt.Sprintf("%v:%v", role[1], role[2])
		if err := cl.Do(ctx, "CLUSTER", "FAILOVER").Err(); err != nil {
			cl.Close()
			return "", "", fmt.Errorf("cluster failover on %s: %w", n.Addr(), err)
		}
		for {
			role, _ := cl.Do(ctx, "ROLE").Slice()
			if len(role) > 0 && role[0] == "master" {
				cl.Close()
				return n.Addr(), master, nil
			}
			select {
			case <-ctx.Done():
				cl.Close()
				return "", "", fmt.Errorf("replica %s did not take over: %w", n.Addr(), ctx.Err())
			case <-time.After(20 * time.Millisecond):
			}
		}
	}
	return "", "", errors.New("no replica in the cluster")
}

// killMaster kills (SIGKILL) a master that has a replica and waits until
// the cluster has promoted the replica (after cluster-node-timeout, 2 s, and
// an election) and serves every slot again. Replication is asynchronous:
// writes the master took in its last moments may be lost.
func (c *redisCluster) killMaster(ctx context.Context) (master, replica string, err error) {
	for _, n := range c.nodes {
		cl := redis.NewClient(&redis.Options{Addr: n.Addr(), MaxRetries: -1})
		role, err := cl.Do(ctx, "ROLE").Slice()
		cl.Close()
		if err != nil || len(role) < 3 || role[0] != "master" {
			continue
		}
		replicas, _ := role[2].([]any)
		if len(replicas) == 0 {
			continue
		}
		r, _ := replicas[0].([]any)
		if len(r) < 2 {
			continue
		}
		replica = fmt.Sprintf("%v:%v", r[0], r[1])
		n.Close()
		rc := redis.NewClient(&redis.Options{Addr: replica, MaxRetries: -1})
		defer rc.Close()
		for {
			role, _ := rc.Do(ctx, "ROLE").Slice()
			info, _ := rc.ClusterInfo(ctx).Result()
			if len(role) > 0 && role[0] == "master" && strings.Contains(info, "cluster_state:ok") {
				return n.Addr(), replica, nil
			}
			select {
			case <-ctx.Done():
				return "", "", fmt.Errorf("replica %s did not take over from %s: %w", replica, n.Addr(), ctx.Err())
			case <-time.After(20 * time.Millisecond):
			}
		}
	}
	return "", "", errors.New("no master with a replica in the cluster")
}

// Close kills every node.
func (c *redisCluster) Close() {
	for _, n := range c.nodes {
		n.Close()
	}
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
