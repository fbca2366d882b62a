package version

var VERSION = "6.14.1"
var REVISION = "unknown"
