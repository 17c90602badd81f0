package redisstore

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/redis/go-redis/v9"

	"github.com/otpreset/go/store"
)

// clusterSlots is the number of hash slots of a Redis Cluster.
const clusterSlots = 16384

// Check reports whether Redis can serve, without writing anything: the
// server answers PING and, on a Redis Cluster, every node known to the
// client answers, the cluster reports cluster_state:ok, and its slot map
// gives every one of the 16384 slots to an online master (a slot without
// one would fail the codes of every tenant hashed there). Errors wrap
// store.ErrNotReady. Call it at start and refuse to serve when it fails.
func (s *Store) Check(ctx context.Context) error {
	if err := s.client.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("redisstore: %w: ping: %w", store.ErrNotReady, err)
	}
	cc, ok := s.client.(*redis.ClusterClient)
	if !ok {
		return nil
	}
	ranges, err := slotRanges(ctx, cc)
	if err != nil {
		return fmt.Errorf("redisstore: %w: reading the cluster's slot map: %w", store.ErrNotReady, err)
	}
	if err := checkSlots(ranges); err != nil {
		return fmt.Errorf("redisstore: %w: %w", store.ErrNotReady, err)
	}
	info, err := cc.ClusterInfo(ctx).Result()
	if err != nil {
		return fmt.Errorf("redisstore: %w: cluster info: %w", store.ErrNotReady, err)
	}
	if !strings.Contains(info, "cluster_state:ok") {
		return fmt.Errorf("redisstore: %w: the cluster's state is not ok", store.ErrNotReady)
	}
	if err := cc.ForEachShard(ctx, func(ctx context.Context, c *redis.Client) error {
		if err := c.Ping(ctx).Err(); err != nil {
			return fmt.Errorf("node %s: %w", c.Options().Addr, err)
		}
		return nil
	}); err != nil {
		return fmt.Errorf("redisstore: %w: ping: %w", store.ErrNotReady, err)
	}
	return nil
}

// slotRange is a range of slots and whether an online master serves it.
type slotRange struct {
	start, end int
	master     bool
}

// slotRanges reads the cluster's slot map: CLUSTER SHARDS (Redis 7), or
// CLUSTER SLOTS where that is unknown (Redis 6; it lists masters only, so
// every range it gives has one).
func slotRanges(ctx context.Context, cc *redis.ClusterClient) ([]slotRange, error) {
	shards, err := cc.ClusterShards(ctx).Result()
	if err != nil && strings.Contains(strings.ToLower(err.Error()), "unknown subcommand") {
		//lint:ignore SA1019 CLUSTER SHARDS is Redis 7's; Redis 6 has only CLUSTER SLOTS
		slots, err := cc.ClusterSlots(ctx).Result()
		if err != nil {
			return nil, err
		}
		var out []slotRange
		for _, r := range slots {
			out = append(out, slotRange{r.Start, r.End, len(r.Nodes) > 0})
		}
		return out, nil
	}
	if err != nil {
		return nil, err
	}
	var out []slotRange
	for _, sh := range shards {
		master := slices.ContainsFunc(sh.Nodes, func(n redis.Node) bool { return n.Role == "master" && n.Health == "online" })
		for _, r := range sh.Slots {
			out = append(out, slotRange{int(r.Start), int(r.End), master})
		}
	}
	return out, nil
}

// checkSlots reports the slots that no online master serves, as ranges.
func checkSlots(ranges []slotRange) error {
	covered := make([]bool, clusterSlots)
	for _, r := range ranges {
		if !r.master {
			continue
		}
		for i := max(r.start, 0); i <= min(r.end, clusterSlots-1); i++ {
			covered[i] = true
		}
	}
	var gaps []string
	for i := 0; i < clusterSlots; {
		if covered[i] {
			i++
			continue
		}
		j := i
		for j+1 < clusterSlots && !covered[j+1] {
			j++
		}
		if i == j {
			gaps = append(gaps, fmt.Sprint(i))
		} else {
			gaps = append(gaps, fmt.Sprintf("%d-%d", i, j))
		}
		i = j + 1
	}
	if len(gaps) == 0 {
		return nil
	}
	if len(gaps) > 5 {
		gaps = append(slices.Clip(gaps[:5]), fmt.Sprintf("and %d more ranges", len(gaps)-5))
	}
	return fmt.Errorf("the cluster's slot map gives no online master to slots %s", strings.Join(gaps, ", "))
}
