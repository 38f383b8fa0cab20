package cli

import (
	"github.com/sentio-health/sentio/config"
	"github.com/sentio-health/sentio/daemon"
	"github.com/sentio-health/sentio/pipeline"
)

// The pipeline (segment → asr → langid → reason → publish over JetStream) is the daemon's one
// component.
func init() {
	addComponent(func(cfg *config.Config) (daemon.Component, error) {
		return pipeline.New(cfg)
	})
}
