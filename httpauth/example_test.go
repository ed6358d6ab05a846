package httpauth_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/forgeauth/forgeauth/auth"
	"github.com/forgeauth/forgeauth/httpauth"
	"github.com/forgeauth/forgeauth/store/memstore"
	"github.com/forgeauth/forgeauth/token"
)

// Mount the endpoints on an http.ServeMux and protect an application route
// with RequireUser.
func Example() {
	svc, err := auth.New(auth.Config{
		Mode:  auth.ModeBasic, // no mailer needed
		Store: memstore.New(),
		Token: token.Config{Secret: []byte("a secret of at least 32 bytes, from your vault")},
	})
	if err != nil {
		log.Fatal(err)
	}
	defer func() { _ = svc.Shutdown(context.Background()) }()

	h, err := httpauth.New(svc, httpauth.Options{})
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	h.Mount(mux)
	mux.Handle("GET /notes", h.RequireUser(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, _ := httpauth.UserFrom(r.Context())
		fmt.Fprintf(w, "the notes of %s", u.Username)
	})))

	// What a client sees (in a real program: http.ListenAndServe(":8080", mux)).
	call := func(method, path, body, accessToken string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(method, path, strings.NewReader(body))
		if body != "" {
			r.Header.Set("Content-Type", "application/json")
		}
		if accessToken != "" {
			r.Header.Set("Authorization", "Bearer "+accessToken)
		}
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, r)
		return w
	}
	fmt.Println(call("POST", "/api/v1/auth/register", `{"username":"alice","email":"alice@example.com","password":"Correct-Horse-7"}`, "").Code)
	fmt.Println(call("GET", "/notes", "", "").Code)

	login := call("POST", "/api/v1/auth/login", `{"username":"alice","password":"Correct-Horse-7"}`, "")
	var tokens struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal(login.Body.Bytes(), &tokens); err != nil {
		log.Fatal(err)
	}
	fmt.Println(login.Code)
	fmt.Println(call("GET", "/notes", "", tokens.AccessToken).Body.String())
	// Output:
	// 201
	// 401
	// 200
	// the notes of alice
}

// Key a per-client limit by the client's network: an IPv4 address on its
// own, an IPv6 address by its /64.
func ExampleClientNetwork() {
	for _, ip := range []string{"203.0.113.9", "::ffff:203.0.113.9", "2001:db8:1:2:a:b:c:d", "2001:db8:1:2::1"} {
		network, err := httpauth.ClientNetwork(ip, 0)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(network)
	}
	if _, err := httpauth.ClientNetwork("2001:db8::1", 200); errors.Is(err, httpauth.ErrInvalidOptions) {
		fmt.Println(err)
	}
	// Output:
	// 203.0.113.9
	// 203.0.113.9
	// 2001:db8:1:2::/64
	// 2001:db8:1:2::/64
	// httpauth: invalid options: IPv6 prefix length 200 is outside 1..128
}
