//go:build race

package vmdk

// raceEnabled: the race detector multiplies memory use, so heap bounds are
// not checked under it.
const raceEnabled = true
