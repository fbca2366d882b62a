package client

import (
	"context"
	"sync"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/pipectl/pipectl/sdk/internal/wire"
)

// callStream carries a plugin's calls of one kind over one stream
// (PlanStream, ApplyStream): a message each way per call instead of a
// call, whose own cost is what thousands of steps wait on. Each request
// has an id of its own, each response names its call, and a call's last
// response (last) ends it: a plan's answer, an apply's events and then
// its result. Any number of calls are in flight.
type callStream[Req, Resp any] struct {
	stream grpc.BidiStreamingClient[Req, Resp]
	cancel context.CancelFunc // ends the stream
	id     func(*Resp) uint64
	last   func(*Resp) bool

	// Send has a lock of its own: a Send waiting for the plugin to read
	// (gRPC flow control) must not keep receive from taking responses.
	sendMu sync.Mutex

	mu    sync.Mutex // the fields below
	next  uint64
	calls map[uint64]*streamCall[Resp]
	err   error // why the stream ended: every later call fails with it
}

// streamCall is one call on a stream: its responses as they come.
type streamCall[Resp any] struct {
	id uint64
	// responses is closed when the stream ends before the call's last.
	responses chan *Resp
	gone      chan struct{} // closed when its caller stopped listening
}

// openCallStream starts a stream; it lives as long as the plugin.
func openCallStream[Req, Resp any](open func(context.Context, ...grpc.CallOption) (grpc.BidiStreamingClient[Req, Resp], error),
	id func(*Resp) uint64, last func(*Resp) bool) (*callStream[Req, Resp], error) {
	ctx, cancel := context.WithCancel(context.Background())
	stream, err := open(ctx)
	if err != nil {
		cancel()
		return nil, err
	}
	s := &callStream[Req, Resp]{stream: stream, cancel: cancel, id: id, last: last, calls: map[uint64]*streamCall[Resp]{}}
	go s.receive()
	return s, nil
}

// receive hands each response to its call until the stream ends, then
// fails the calls still waiting with the stream's error. A call whose
// responses are not read yet holds the others back (as a stream of its
// own would hold back its plugin): a log flood is bounded, not buffered.
func (s *callStream[Req, Resp]) receive() {
	for {
		resp, err := s.stream.Recv()
		s.mu.Lock()
		if err != nil {
			s.err = err
			for id, c := range s.calls {
				close(c.responses)
				delete(s.calls, id)
			}
			s.mu.Unlock()
			return
		}
		c := s.calls[s.id(resp)]
		if c != nil && s.last(resp) {
			delete(s.calls, c.id)
		}
		s.mu.Unlock()
		if c != nil {
			select {
			case c.responses <- resp:
			case <-c.gone:
			}
		}
	}
}

// start registers a call, whose request the caller then sends with the
// call's id, and buffers up to buffer of its responses.
func (s *callStream[Req, Resp]) start(buffer int) (*streamCall[Resp], error) {
	c := &streamCall[Resp]{responses: make(chan *Resp, buffer), gone: make(chan struct{})}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return nil, s.err
	}
	c.id = s.next
	s.next++
	s.calls[c.id] = c
	return c, nil
}

// leave stops listening to a call before its last response.
func (s *callStream[Req, Resp]) leave(c *streamCall[Resp]) {
	s.mu.Lock()
	delete(s.calls, c.id)
	s.mu.Unlock()
	close(c.gone)
}

// send sends one message; an error ends the stream, which receive reports.
func (s *callStream[Req, Resp]) send(req *Req) {
	s.sendMu.Lock()
	defer s.sendMu.Unlock()
	_ = s.stream.Send(req)
}

// ended is why the stream ended, once it has.
func (s *callStream[Req, Resp]) ended() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// close ends the stream: the plugin's calls in progress are cancelled.
func (s *callStream[Req, Resp]) close() { s.cancel() }

// fits refuses a request over the message limit with the status a call
// gets: gRPC would end the stream, and fail every call on it.
func fits(msg proto.Message, what string) error {
	if n := proto.Size(msg) + 16; n > wire.MaxMessageSize { // room for the id
		return status.Errorf(codes.ResourceExhausted, "the %s request is %d bytes, over the limit of %d", what, n, wire.MaxMessageSize)
	}
	return nil
}
