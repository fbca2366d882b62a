// Package compat is the plugin protocol's compatibility suite: frozen
// plugins of every revision of pipectl.plugin.v1 (each directory beside
// this file, see README.md), built from source and run through the current
// pipectl. A plugin that worked with an earlier pipectl keeps working.
package compat
