package pace

import (
	"context"
	"errors"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// Wait on the bubble's fake clock: it holds the pace, queues waiters in turn, returns when the
// context ends, and leaves no goroutine behind.
func TestWaitHoldsThePace(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := New(Config{Min: 50, Max: 50}, nil)
		ctx := context.Background()
		start := time.Now()
		var wg sync.WaitGroup
		for range 4 {
			wg.Go(func() {
				for range 25 {
					if _, err := p.Wait(ctx); err != nil {
						t.Error(err)
					}
				}
			})
		}
		wg.Wait()
		// 100 requests at 50/s: the first goes at once, a burst of one.
		if got := time.Since(start); got < 1900*time.Millisecond || got > 2100*time.Millisecond {
			t.Errorf("100 requests at 50/s took %s", got)
		}
	})
}

func TestWaitEndsWithItsContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := New(Config{Min: 1, Max: 1}, nil)
		if _, err := p.Wait(context.Background()); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		var wg sync.WaitGroup
		for range 3 { // one waiting for the pace, two for their turn
			wg.Go(func() {
				if _, err := p.Wait(ctx); !errors.Is(err, context.DeadlineExceeded) {
					t.Errorf("Wait after its context ended: %v", err)
				}
			})
		}
		wg.Wait()
		synctest.Wait()
	})
}

// A pace that rises while a request waits lets it go at the new pace, not the old one's time.
func TestWaitFollowsARisingPace(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := New(Config{}, nil)
		for range 32 { // an outage: the pace falls to the floor
			w, _ := p.Wait(context.Background())
			p.Throttled(w)
			if p.Rate() == 1 {
				break
			}
		}
		if got := p.Rate(); got != 1 {
			t.Fatalf("after an outage the pace is %v, want 1", got)
		}
		w, _ := p.Wait(context.Background())
		p.Succeeded(w) // the outage is over: the pace climbs
		start := time.Now()
		for range 5 {
			w, _ := p.Wait(context.Background())
			p.Succeeded(w)
		}
		if got := time.Since(start); got > 2*time.Second {
			t.Errorf("5 requests took %s after the outage ended", got)
		}
	})
}

// A Wait that ends with its context while the pace holds it back leaves no wait behind: an
// idle spell after it is not time the pace held the job back, so the slow start does not grow
// by it.
func TestAnAbandonedWaitIsNotHeldTime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := New(Config{}, nil) // the slow start, at 50/s
		if _, err := p.Wait(context.Background()); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Millisecond)
		defer cancel()
		if _, err := p.Wait(ctx); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("a Wait held back past its context: %v", err)
		}
		time.Sleep(10 * time.Second) // idle
		if _, err := p.Wait(context.Background()); err != nil {
			t.Fatal(err)
		}
		if got := p.Rate(); got > 60 {
			t.Errorf("after an abandoned wait and 10 idle seconds, the slow start is at %.0f/s, want about 50", got)
		}
	})
}
