package benchsrv

import "net/http"

// NewBare returns the ceiling: GET [MePath] answered with [FixtureUser]'s
// JSON and no authentication at all. The body is marshalled per request, as
// the other servers do. The handler is safe for concurrent use.
func NewBare() http.Handler {
	u := FixtureUser()
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+MePath, func(w http.ResponseWriter, _ *http.Request) {
		writeUser(w, u)
	})
	return mux
}
