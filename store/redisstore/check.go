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
// gives every one of the 16384 slots to a master (a slot without one would
// fail the codes of every tenant hashed there). Errors wrap
// store.ErrNotReady. Call it at start and refuse to serve when it fails.
func (s *Store) Check(ctx context.Context) error {
	if err := s.client.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("redisstore: %w: ping: %w", store.ErrNotReady, err)
	}
	cc, ok := s.client.(*redis.ClusterClient)
	if !ok {
		return nil
	}
	slots, err := cc.ClusterSlots(ctx).Result()
	if err != nil {
		return fmt.Errorf("redisstore: %w: reading the cluster's slot map: %w", store.ErrNotReady, err)
	}
	if err := checkSlots(slots); err != nil {
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

// checkSlots reports the slots that the slot map gives to no master, as
// ranges.
func checkSlots(slots []redis.ClusterSlot) error {
	covered := make([]bool, clusterSlots)
	for _, r := range slots {
		if len(r.Nodes) == 0 {
			continue
		}
		for i := max(r.Start, 0); i <= min(r.End, clusterSlots-1); i++ {
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
	return fmt.Errorf("the cluster's slot map gives no master to slots %s", strings.Join(gaps, ", "))
}
