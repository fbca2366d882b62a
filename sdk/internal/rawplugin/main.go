// Command rawplugin speaks the plugin protocol without the SDK, which always
// declares every capability it has: for the tests of how sdk/client
// negotiates optional calls. Its environment says what it declares and
// implements, and it writes the name of every call it gets to a file:
//
//	RAWPLUGIN_CAPS      absent: no Capabilities (a plugin older than them);
//	                    else a comma-separated list ("cancel,plan_read_paths")
//	RAWPLUGIN_CANCEL    "1": Cancel is implemented, and a cancel on
//	                    ApplyStream is obeyed; else Cancel is Unimplemented
//	                    and a cancel on ApplyStream is ignored (a plugin
//	                    that does not clean up)
//	RAWPLUGIN_SETTINGS  "1": it declares a setting "greeting" and implements
//	                    ConfigurePlugin; "unimplemented": declares it only
//	RAWPLUGIN_CALLS     the file the calls are appended to
//
// Its one action, wait, plans reading /etc/hostname and applies until its
// call is cancelled (by Cancel, or by the host cutting the call).
package main

import (
	"context"
	"os"
	"strings"
	"sync"

	"github.com/hashicorp/go-plugin"
	"github.com/zclconf/go-cty/cty"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pb "github.com/pipectl/pipectl/sdk/internal/pluginpb"
	"github.com/pipectl/pipectl/sdk/internal/wire"
)

func main() {
	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig: wire.Handshake,
		Plugins:         plugin.PluginSet{wire.PluginName: &grpcPlugin{}},
		GRPCServer:      plugin.DefaultGRPCServer,
	})
}

type grpcPlugin struct{ plugin.NetRPCUnsupportedPlugin }

func (grpcPlugin) GRPCServer(_ *plugin.GRPCBroker, s *grpc.Server) error {
	srv := &server{calls: map[string]context.CancelFunc{}}
	pb.RegisterPluginServer(s, srv)
	return nil
}

func (grpcPlugin) GRPCClient(context.Context, *plugin.GRPCBroker, *grpc.ClientConn) (any, error) {
	return nil, nil
}

type server struct {
	pb.UnimplementedPluginServer
	mu    sync.Mutex
	calls map[string]context.CancelFunc // running Applies by call id
}

// record appends a call's name to $RAWPLUGIN_CALLS.
func record(method string) {
	f, err := os.OpenFile(os.Getenv("RAWPLUGIN_CALLS"), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return
	}
	defer f.Close()
	_, _ = f.WriteString(method + "\n")
}

func (s *server) GetSchema(context.Context, *pb.GetSchema_Request) (*pb.GetSchema_Response, error) {
	record("GetSchema")
	str := []byte(`"string"`)
	resp := &pb.GetSchema_Response{Name: "rawplugin", Version: "0.0.1", Actions: map[string]*pb.Schema_Action{
		"wait": {Block: &pb.Schema_Block{}, Outputs: map[string]*pb.Schema_Attribute{}},
	}}
	if caps, ok := os.LookupEnv("RAWPLUGIN_CAPS"); ok {
		resp.Capabilities = &pb.Capabilities{
			Cancel:        strings.Contains(caps, "cancel"),
			PlanReadPaths: strings.Contains(caps, "plan_read_paths"),
			ApplyStream:   strings.Contains(caps, "apply_stream"),
		}
	}
	if os.Getenv("RAWPLUGIN_SETTINGS") != "" {
		resp.PluginSettings = &pb.Schema_Block{Attributes: map[string]*pb.Schema_Attribute{"greeting": {TypeJson: str}}}
	}
	return resp, nil
}

func (s *server) ConfigurePlugin(context.Context, *pb.ConfigurePlugin_Request) (*pb.ConfigurePlugin_Response, error) {
	record("ConfigurePlugin")
	if os.Getenv("RAWPLUGIN_SETTINGS") != "1" {
		return nil, status.Error(codes.Unimplemented, "method ConfigurePlugin not implemented")
	}
	return &pb.ConfigurePlugin_Response{}, nil
}

func (s *server) ValidateConfig(context.Context, *pb.ValidateConfig_Request) (*pb.ValidateConfig_Response, error) {
	record("ValidateConfig")
	return &pb.ValidateConfig_Response{}, nil
}

func (s *server) Plan(context.Context, *pb.Plan_Request) (*pb.Plan_Response, error) {
	record("Plan")
	outputs, err := wire.EncodeValue(cty.EmptyObjectVal)
	if err != nil {
		return nil, err
	}
	return &pb.Plan_Response{Kind: pb.Plan_Response_RUN, Summary: "wait", PlannedOutputs: outputs,
		ReadPaths: []string{"/etc/hostname"}}, nil
}

func (s *server) Apply(req *pb.Apply_Request, stream pb.Plugin_ApplyServer) error {
	record("Apply")
	ctx, cancel := context.WithCancel(stream.Context())
	defer cancel()
	s.mu.Lock()
	s.calls[req.CallId] = cancel
	s.mu.Unlock()
	if err := stream.Send(&pb.Apply_Event{Event: &pb.Apply_Event_Log{Log: &pb.Apply_Log{Stream: "stdout", Line: "waiting"}}}); err != nil {
		return err
	}
	<-ctx.Done()
	record("Apply ended")
	return stream.Send(&pb.Apply_Event{Event: &pb.Apply_Event_Result{Result: &pb.Apply_Result{Diagnostics: []*pb.Diagnostic{
		{Severity: pb.Diagnostic_ERROR, Summary: "Cancelled"}}}}})
}

// ApplyStream applies wait for each request: a "waiting" event, then,
// once a cancel for it comes (if obeyed), its result.
func (s *server) ApplyStream(stream pb.Plugin_ApplyStreamServer) error {
	record("ApplyStream")
	var mu sync.Mutex // Send
	send := func(resp *pb.ApplyStream_Response) error {
		mu.Lock()
		defer mu.Unlock()
		return stream.Send(resp)
	}
	for {
		req, err := stream.Recv()
		if err != nil {
			return nil
		}
		if req.Apply != nil {
			record("Apply")
			_ = send(&pb.ApplyStream_Response{Id: req.Id, Event: &pb.Apply_Event{Event: &pb.Apply_Event_Log{
				Log: &pb.Apply_Log{Stream: "stdout", Line: "waiting"}}}})
			continue
		}
		record("ApplyStream-cancel")
		if os.Getenv("RAWPLUGIN_CANCEL") == "1" {
			record("Apply ended")
			_ = send(&pb.ApplyStream_Response{Id: req.Id, Event: &pb.Apply_Event{Event: &pb.Apply_Event_Result{
				Result: &pb.Apply_Result{Diagnostics: []*pb.Diagnostic{{Severity: pb.Diagnostic_ERROR, Summary: "Cancelled"}}}}}})
		}
	}
}

func (s *server) Stop(context.Context, *pb.Stop_Request) (*pb.Stop_Response, error) {
	record("Stop")
	return &pb.Stop_Response{}, nil
}

func (s *server) Cancel(_ context.Context, req *pb.Cancel_Request) (*pb.Cancel_Response, error) {
	record("Cancel")
	if os.Getenv("RAWPLUGIN_CANCEL") != "1" {
		return nil, status.Error(codes.Unimplemented, "method Cancel not implemented")
	}
	s.mu.Lock()
	cancel := s.calls[req.CallId]
	s.mu.Unlock()
	if cancel != nil {
		cancel()
	}
	return &pb.Cancel_Response{}, nil
}
