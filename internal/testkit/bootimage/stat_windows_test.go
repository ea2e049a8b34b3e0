//go:build windows

package bootimage

import "errors"

func statBlocks(string, *syscallStat) error {
	return errors.New("allocated blocks: not available on Windows")
}
