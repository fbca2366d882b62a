module github.com/pipectl/pipectl/test/compat

go 1.26.0
