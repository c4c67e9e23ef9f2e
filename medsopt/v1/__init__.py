"""Generated protobuf/gRPC stubs for the medsopt.v1 API (`make proto`); do not edit."""
