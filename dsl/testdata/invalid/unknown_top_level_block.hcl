# expect: 3:1 Did you mean "stage"?
pipeline "p" {}
stge "s" {
}
