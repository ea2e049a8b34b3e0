package ova

import "github.com/ovakit/packer-plugin-vsphere-ova/internal/progress"

// ProgressTracker reports copy progress; packersdk.Ui satisfies it. Pack
// never puts the tracker on the data path: progress.Meter counts bytes on
// the side and shows a step every few seconds (one call per Read costs an
// RPC round trip and an allocation inside Packer).
type ProgressTracker = progress.Tracker
