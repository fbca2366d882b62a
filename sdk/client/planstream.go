package client

import (
	"context"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pb "github.com/pipectl/pipectl/sdk/internal/pluginpb"
)

// planStream carries every Plan call of a plugin that declares
// Capabilities.PlanStream: one answer per call.
type planStream = callStream[pb.PlanStream_Request, pb.PlanStream_Response]

func openPlanStream(rpc pb.PluginClient) (*planStream, error) {
	return openCallStream(rpc.PlanStream, (*pb.PlanStream_Response).GetId, func(*pb.PlanStream_Response) bool { return true })
}

// planOver sends one Plan request over s and waits for its answer.
// Cancelling ctx asks the plugin to cancel that plan and returns at once,
// as a cancelled Plan call does. Errors are gRPC statuses, as from the
// Plan call.
func planOver(ctx context.Context, s *planStream, req *pb.Plan_Request) (*pb.Plan_Response, error) {
	if err := ctx.Err(); err != nil {
		return nil, status.FromContextError(err).Err()
	}
	msg := &pb.PlanStream_Request{Plan: req}
	if err := fits(msg, "plan"); err != nil {
		return nil, err
	}
	c, err := s.start(1)
	if err != nil {
		return nil, err
	}
	msg.Id = c.id
	s.send(msg) // a failed Send ends the stream: receive then closes c.responses
	select {
	case resp, ok := <-c.responses:
		if !ok {
			return nil, s.ended()
		}
		if resp.ErrorCode != 0 {
			return nil, status.Error(codes.Code(resp.ErrorCode), resp.ErrorMessage)
		}
		return resp.Plan, nil
	case <-ctx.Done():
		s.leave(c)
		s.send(&pb.PlanStream_Request{Id: c.id}) // cancel it there too
		return nil, status.FromContextError(ctx.Err()).Err()
	}
}
