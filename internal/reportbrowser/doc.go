// Package reportbrowser tests the HTML run report in a real browser:
// headless Chromium (Debian's chromium package, `make chromium-deps`)
// driven over the DevTools protocol with chromedp. It is a module of its
// own so that chromedp stays out of pipectl's dependencies.
package reportbrowser
