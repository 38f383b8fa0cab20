// Package systemd holds sentio's systemd unit (sentio.service), its GPU drop-in (gpu.conf) and
// an example environment file; its tests verify the unit with systemd-analyze, bound its
// exposure score and check that sentio runs under MemoryDenyWriteExecute.
package systemd
