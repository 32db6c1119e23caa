"""The pickups maps (MoveToBeacon, CollectMineralShards): marines and neutral pickups (a beacon, mineral shards)."""
