package client

import (
	"context"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pb "github.com/pipectl/pipectl/sdk/internal/pluginpb"
)

// applyStream carries every Apply call of a plugin that declares
// Capabilities.ApplyStream: each call's events, then its result.
type applyStream = callStream[pb.ApplyStream_Request, pb.ApplyStream_Response]

// applyBuffer is how many of a call's events wait for its caller before
// the stream waits too.
const applyBuffer = 16

func openApplyStream(rpc pb.PluginClient) (*applyStream, error) {
	return openCallStream(rpc.ApplyStream, (*pb.ApplyStream_Response).GetId, func(resp *pb.ApplyStream_Response) bool {
		_, result := resp.GetEvent().GetEvent().(*pb.Apply_Event_Result)
		return result || resp.ErrorCode != 0
	})
}

// applyOver runs one Apply call over s, as Apply runs one over a stream of
// its own: cancelling ctx asks the plugin to cancel the action and waits
// up to CancelGrace for the result of its clean-up.
func (p *Plugin) applyOver(ctx context.Context, s *applyStream, call *pb.Apply_Request, onEvent func(Event)) (*ApplyResult, error) {
	msg := &pb.ApplyStream_Request{Apply: call}
	if err := fits(msg, "apply"); err != nil {
		return nil, p.callErr("Apply", err)
	}
	c, err := s.start(applyBuffer)
	if err != nil {
		return nil, p.callErr("Apply", err)
	}
	msg.Id = c.id
	s.send(msg) // a failed Send ends the stream: receive then closes c.responses
	cancelled, grace := ctx.Done(), (<-chan time.Time)(nil)
	for {
		select {
		case resp, ok := <-c.responses:
			switch {
			case !ok:
				return nil, p.callErr("Apply", s.ended())
			case resp.ErrorCode != 0:
				return nil, p.callErr("Apply", status.Error(codes.Code(resp.ErrorCode), resp.ErrorMessage))
			}
			if res, last, err := p.take(ctx, call.Action, resp.Event, onEvent); last {
				return res, err
			}
		case <-cancelled:
			cancelled = nil
			s.send(&pb.ApplyStream_Request{Id: c.id}) // the action cleans up, then its result comes
			t := time.NewTimer(CancelGrace)
			defer t.Stop()
			grace = t.C
		case <-grace:
			s.leave(c)
			return nil, p.callErr("Apply", status.FromContextError(ctx.Err()).Err())
		}
	}
}
