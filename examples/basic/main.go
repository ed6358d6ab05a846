// Command basic is the smallest forgeauth program: Basic mode (register,
// login, GET /api/v1/users/me) on an http.ServeMux with the in-memory store,
// and one route of its own that only signed-in users reach.
//
//	go run ./examples/basic
//	curl -X POST localhost:8080/api/v1/auth/register -H 'Content-Type: application/json' \
//		-d '{"username":"ada","email":"ada@example.com","password":"Analytical-Engine-1843"}'
//	curl -X POST localhost:8080/api/v1/auth/login -H 'Content-Type: application/json' \
//		-d '{"username":"ada","password":"Analytical-Engine-1843"}'
//	curl localhost:8080/api/v1/hello -H 'Authorization: Bearer <access_token>'
package main

import (
	"crypto/rand"
	"fmt"
	"log"
	"net/http"
	"os"
	"time"

	"github.com/forgeauth/forgeauth/auth"
	"github.com/forgeauth/forgeauth/httpauth"
	"github.com/forgeauth/forgeauth/store/memstore"
	"github.com/forgeauth/forgeauth/token"
)

func main() {
	secret := []byte(os.Getenv("JWT_SECRET_KEY")) // at least 32 bytes
	if len(secret) == 0 {
		secret = []byte(rand.Text() + rand.Text()) // 52 random characters
		log.Print("JWT_SECRET_KEY is not set: using a random secret; tokens will not survive a restart")
	}
	svc, err := auth.New(auth.Config{Mode: auth.ModeBasic, Store: memstore.New(), Token: token.Config{Secret: secret}})
	if err != nil {
		log.Fatal(err)
	}
	h, err := httpauth.New(svc, httpauth.Options{})
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	h.Mount(mux) // /api/v1/auth/register, /api/v1/auth/login, /api/v1/users/me
	mux.Handle("GET /api/v1/hello", h.RequireUser(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, _ := httpauth.UserFrom(r.Context())
		fmt.Fprintf(w, "Hello, %s!\n", u.Username)
	})))

	srv := &http.Server{Addr: ":8080", Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	log.Print("listening on ", srv.Addr)
	log.Fatal(srv.ListenAndServe())
}
