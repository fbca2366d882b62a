// Package pyecho tests the Python example plugin (pipectl-plugin-pyecho)
// the way pipectl runs it: through sdk/plugintest, and through a real
// `pipectl init` and `pipectl apply`. The plugin itself is Python; this Go
// module only holds its tests.
package pyecho
