package client

import (
	"context"
	"sync"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pb "github.com/pipectl/pipectl/sdk/internal/pluginpb"
)

// planStream carries every Plan call of a plugin that declares
// Capabilities.PlanStream over one PlanStream call: a message each way per
// step instead of a call, whose own cost is what thousands of plans wait
// on. Calls are matched to answers by id; any number are in flight.
type planStream struct {
	stream pb.Plugin_PlanStreamClient
	cancel context.CancelFunc // ends the stream

	mu      sync.Mutex // the fields below, and Send: one message at a time
	next    uint64
	waiting map[uint64]chan *pb.PlanStream_Response
	err     error // why the stream ended: every later call fails with it
}

// openPlanStream starts the stream; it lives as long as the plugin.
func openPlanStream(rpc pb.PluginClient) (*planStream, error) {
	ctx, cancel := context.WithCancel(context.Background())
	stream, err := rpc.PlanStream(ctx)
	if err != nil {
		cancel()
		return nil, err
	}
	s := &planStream{stream: stream, cancel: cancel, waiting: map[uint64]chan *pb.PlanStream_Response{}}
	go s.receive()
	return s, nil
}

// receive hands each answer to its call until the stream ends, then fails
// the calls still waiting with the stream's error.
func (s *planStream) receive() {
	for {
		resp, err := s.stream.Recv()
		s.mu.Lock()
		if err != nil {
			s.err = err
			for id, ch := range s.waiting {
				close(ch)
				delete(s.waiting, id)
			}
			s.mu.Unlock()
			return
		}
		if ch := s.waiting[resp.Id]; ch != nil {
			ch <- resp // buffered: never blocks
			delete(s.waiting, resp.Id)
		}
		s.mu.Unlock()
	}
}

// plan sends one Plan request and waits for its answer. Cancelling ctx
// asks the plugin to cancel that plan and returns at once, as a cancelled
// Plan call does. Errors are gRPC statuses, as from the Plan call.
func (s *planStream) plan(ctx context.Context, req *pb.Plan_Request) (*pb.Plan_Response, error) {
	if err := ctx.Err(); err != nil {
		return nil, status.FromContextError(err).Err()
	}
	ch := make(chan *pb.PlanStream_Response, 1)
	s.mu.Lock()
	if s.err != nil {
		defer s.mu.Unlock()
		return nil, s.err
	}
	id := s.next
	s.next++
	s.waiting[id] = ch
	// A failed Send ends the stream: receive then closes ch with its error.
	_ = s.stream.Send(&pb.PlanStream_Request{Id: id, Plan: req})
	s.mu.Unlock()
	select {
	case resp, ok := <-ch:
		if !ok {
			return nil, s.ended()
		}
		if resp.ErrorCode != 0 {
			return nil, status.Error(codes.Code(resp.ErrorCode), resp.ErrorMessage)
		}
		return resp.Plan, nil
	case <-ctx.Done():
		s.mu.Lock()
		delete(s.waiting, id)
		if s.err == nil {
			_ = s.stream.Send(&pb.PlanStream_Request{Id: id}) // cancel it there too
		}
		s.mu.Unlock()
		return nil, status.FromContextError(ctx.Err()).Err()
	}
}

// ended is why the stream ended, once it has.
func (s *planStream) ended() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// close ends the stream: the plugin's plans in progress are cancelled.
func (s *planStream) close() { s.cancel() }
