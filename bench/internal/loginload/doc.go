// Package loginload drives the login load run: it starts the forgeauth
// bench server as a child process ([StartServer]), so that the server's
// peak memory can be read from /proc, registers an account ([Register]),
// and has N clients log in concurrently for a fixed time ([Run]),
// recording the latency of each success and every other answer.
//
//	srv, err := loginload.StartServer(ctx, "bin/forgeauth", []string{"-port", "0", "-ip-limit=false"}, env, nil)
//	if err != nil { ... }
//	defer srv.Stop()
//	err = loginload.Register(ctx, nil, srv.URL(), "loadtest", "loadtest@example.com", pw)
//	rep, err := loginload.Run(ctx, loginload.Config{BaseURL: srv.URL(), Username: "loadtest", Password: pw, Clients: 200, Duration: 10 * time.Second})
//	peak, err := srv.PeakRSS()
package loginload
