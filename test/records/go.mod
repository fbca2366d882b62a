module github.com/pipectl/pipectl/test/records

go 1.26.0
