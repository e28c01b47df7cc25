package servers

import (
	"context"
	"sort"
)

// Model is one way of serving: it listens on cfg.Addr, serves until ctx is
// cancelled (or the model's own stop condition), and returns what it did.
type Model func(ctx context.Context, cfg Config) (*Stats, error)

var models = map[string]Model{}

// register is called from each model's file.
func register(name string, m Model) { models[name] = m }

// Lookup returns the model with that name.
func Lookup(name string) (Model, bool) {
	m, ok := models[name]
	return m, ok
}

// Models lists the model names, sorted.
func Models() []string {
	var names []string
	for n := range models {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
