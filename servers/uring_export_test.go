package servers

import "context"

// UringWith is the uring model trying only the io_uring features given, so
// that a test on a kernel that has them all runs the fallbacks too.
func UringWith(multishotAccept, multishotRecv, bufRing, deferTaskrun bool) Model {
	feat := uringFeatures{multishotAccept: multishotAccept, multishotRecv: multishotRecv,
		bufRing: bufRing, deferTaskrun: deferTaskrun}
	return func(ctx context.Context, cfg Config) (*Stats, error) {
		return serveUring(ctx, cfg, feat)
	}
}
