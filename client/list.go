package client

import (
	"errors"
	"iter"
)

// errStuckPager stops a walk that would never end because the server
// claimed more items without handing out a new cursor.
var errStuckPager = errors.New("kassa: list page has more items but no new cursor")

// paginate walks pages from p on: each page starts after the last item of
// the one before, until one says it has no more. p is not modified.
func paginate[T any](p *ListParams, id func(T) string, page func(*ListParams) (*List[T], error)) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		var zero T
		var q ListParams
		if p != nil {
			q = *p
		}
		for {
			l, err := page(&q)
			if err != nil {
				yield(zero, err)
				return
			}
			for _, v := range l.Data {
				if !yield(v, nil) {
					return
				}
			}
			if !l.HasMore {
				return
			}
			if len(l.Data) == 0 || id(l.Data[len(l.Data)-1]) == q.StartingAfter {
				yield(zero, errStuckPager)
				return
			}
			q.StartingAfter = id(l.Data[len(l.Data)-1])
		}
	}
}
