// Module validators compares Tandem's JSON scanner with other Go JSON validators on the
// reference payloads (docs/performance.md). It is a separate module so that the libraries
// it compares against never enter the root go.mod.
module github.com/tandem-io/tandem/hack/validators

go 1.26.8

replace github.com/tandem-io/tandem => ../..

require (
	github.com/bytedance/sonic v1.15.5
	github.com/tandem-io/tandem v0.0.0-00010101000000-000000000000
	github.com/valyala/fastjson v1.6.10
)

require (
	github.com/bytedance/gopkg v0.1.3 // indirect
	github.com/bytedance/sonic/loader v0.5.3 // indirect
	github.com/cloudwego/base64x v0.1.6 // indirect
	github.com/klauspost/cpuid/v2 v2.2.9 // indirect
	github.com/twitchyliquid64/golang-asm v0.15.1 // indirect
	golang.org/x/arch v0.0.0-20210923205945-b76863e36670 // indirect
	golang.org/x/sys v0.48.0 // indirect
)
