package vmdk

import (
	"context"
	"sync"
)

// The encoder (pipeline.go) and the decoder (decode.go) share one shape:
// a producer hands out batches in disk order, first on order (their place in
// the output) then on work; worker goroutines process them in any order; the
// caller's goroutine consumes them from order, waiting for each to be done.

// orderedJob is the part of a batch the ordered pipeline owns: done is
// closed once err holds the outcome of processing it.
type orderedJob struct {
	err  error
	done chan struct{}
}

func (j *orderedJob) job() *orderedJob { return j }

// runOrdered runs produce on its own goroutine, workers goroutines each
// processing batches from work with the function newWorker returns (one per
// goroutine, for its own state), and consume on the caller's goroutine.
// produce must close neither channel; runOrdered does. When consume returns,
// ctx is cancelled and every batch still on order is waited for, so no
// goroutine touches a batch after runOrdered returns. consume's error comes
// first, then produce's.
func runOrdered[B interface{ job() *orderedJob }](ctx context.Context, workers, inFlight, workBuf int,
	produce func(ctx context.Context, order, work chan<- B) error,
	newWorker func() func(ctx context.Context, b B) error,
	consume func(ctx context.Context, order <-chan B) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	order := make(chan B, inFlight)
	work := make(chan B, workBuf)
	var wg sync.WaitGroup
	var produceErr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(order)
		defer close(work)
		produceErr = produce(ctx, order, work)
	}()
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			process := newWorker()
			for b := range work {
				j := b.job()
				j.err = process(ctx, b)
				close(j.done)
			}
		}()
	}
	err := consume(ctx, order)
	cancel()
	// The producer and workers stop promptly once ctx is done; the batches
	// are theirs until then.
	for b := range order {
		<-b.job().done
	}
	wg.Wait()
	if err == nil {
		err = produceErr
	}
	return err
}
