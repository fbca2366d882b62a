module github.com/pipectl/pipectl/test/compat

go 1.26.0

replace github.com/pipectl/pipectl/sdk => ../../sdk
