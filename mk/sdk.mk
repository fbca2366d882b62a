# The plugin SDK: protocol code generation and the example plugins' tests.
#
# `make proto` regenerates sdk/internal/pluginpb from sdk/proto with protoc
# (Debian's protobuf-compiler) and the Go generators pinned below, installed
# from the Go module proxy into bin/tools. The generated code is committed, so
# neither a build nor `make test` needs protoc.

TOOLS                      := $(BIN)/tools
PROTOC_GEN_GO_VERSION      := v1.36.12
PROTOC_GEN_GO_GRPC_VERSION := v1.6.0
PROTO_DIR                  := sdk/proto/pipectl/plugin/v1
PROTO_OUT                  := sdk/internal/pluginpb

.PHONY: proto proto-tools

proto: proto-tools
	protoc --proto_path=$(PROTO_DIR) \
	  --plugin=protoc-gen-go=$(TOOLS)/protoc-gen-go \
	  --plugin=protoc-gen-go-grpc=$(TOOLS)/protoc-gen-go-grpc \
	  --go_out=$(PROTO_OUT) --go_opt=paths=source_relative \
	  --go-grpc_out=$(PROTO_OUT) --go-grpc_opt=paths=source_relative \
	  $(PROTO_DIR)/plugin.proto

proto-tools: $(TOOLS)/protoc-gen-go $(TOOLS)/protoc-gen-go-grpc
	@command -v protoc >/dev/null || { \
	  sudo_cmd=""; [ "$$(id -u)" = 0 ] || sudo_cmd=sudo; \
	  $$sudo_cmd apt-get update -qq && $$sudo_cmd apt-get install -y -qq protobuf-compiler; }

$(TOOLS)/protoc-gen-go:
	GOBIN=$(TOOLS) $(GO) install google.golang.org/protobuf/cmd/protoc-gen-go@$(PROTOC_GEN_GO_VERSION)

$(TOOLS)/protoc-gen-go-grpc:
	GOBIN=$(TOOLS) $(GO) install google.golang.org/grpc/cmd/protoc-gen-go-grpc@$(PROTOC_GEN_GO_GRPC_VERSION)
