package client

import (
	"context"
	"sync"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	pb "github.com/pipectl/pipectl/sdk/internal/pluginpb"
	"github.com/pipectl/pipectl/sdk/internal/wire"
)

// planStream carries every Plan call of a plugin that declares
// Capabilities.PlanStream over one PlanStream call: a message each way per
// step instead of a call, whose own cost is what thousands of plans wait
// on. Calls are matched to answers by id; any number are in flight.
type planStream struct {
	stream pb.Plugin_PlanStreamClient
	cancel context.CancelFunc // ends the stream

	// Send has a lock of its own: a Send waiting for the plugin to read
	// (gRPC flow control) must not keep receive from taking answers.
	sendMu sync.Mutex

	mu      sync.Mutex // the fields below
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
	msg := &pb.PlanStream_Request{Plan: req}
	if n := proto.Size(msg) + 16; n > wire.MaxMessageSize { // room for the id
		// gRPC would end the stream, and fail every plan on it.
		return nil, status.Errorf(codes.ResourceExhausted, "the plan request is %d bytes, over the limit of %d", n, wire.MaxMessageSize)
	}
	ch := make(chan *pb.PlanStream_Response, 1)
	s.mu.Lock()
	if s.err != nil {
		defer s.mu.Unlock()
		return nil, s.err
	}
	msg.Id = s.next
	s.next++
	s.waiting[msg.Id] = ch
	s.mu.Unlock()
	// A failed Send ends the stream: receive then closes ch with its error.
	s.send(msg)
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
		delete(s.waiting, msg.Id)
		s.mu.Unlock()
		s.send(&pb.PlanStream_Request{Id: msg.Id}) // cancel it there too
		return nil, status.FromContextError(ctx.Err()).Err()
	}
}

// send sends one message; an error ends the stream, which receive reports.
func (s *planStream) send(req *pb.PlanStream_Request) {
	s.sendMu.Lock()
	defer s.sendMu.Unlock()
	_ = s.stream.Send(req)
}

// ended is why the stream ended, once it has.
func (s *planStream) ended() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// close ends the stream: the plugin's plans in progress are cancelled.
func (s *planStream) close() { s.cancel() }
