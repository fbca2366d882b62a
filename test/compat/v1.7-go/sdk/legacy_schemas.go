//go:build pipectl_legacy_schemas

package sdk

// Built only into test plugins that stand for plugins built before the SDK
// refused attributes named like a step meta-argument, so that hosts are
// tested against what such a plugin publishes.
func init() { legacyMetaNames = true }
