package password_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/forgeauth/forgeauth/password"
)

type vectorFile struct {
	Tool    string `json:"tool"`
	Vectors []struct {
		Password string `json:"password"`
		Hash     string `json:"hash"`
	} `json:"vectors"`
}

func loadVectors(tb testing.TB, name string) vectorFile {
	tb.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	require.NoError(tb, err)
	var vf vectorFile
	require.NoError(tb, json.Unmarshal(data, &vf))
	require.NotEmpty(tb, vf.Vectors)
	return vf
}

// TestVectors verifies the committed hashes written by the reference argon2
// tool and by argon2-cffi (testdata/gen_vectors.py regenerates them).
func TestVectors(t *testing.T) {
	for _, file := range []string{"argon2cli_vectors.json", "argon2cffi_vectors.json"} {
		vf := loadVectors(t, file)
		for i, v := range vf.Vectors {
			p, err := password.Decode(v.Hash)
			require.NoError(t, err, "%s #%d", file, i)
			name := fmt.Sprintf("%s/%d m=%d,t=%d,p=%d,key=%d", file, i, p.Memory, p.Iterations, p.Parallelism, p.KeyLength)
			t.Run(name, func(t *testing.T) {
				if testing.Short() && p.Memory > 4096 {
					t.Skip("expensive parameters; skipped in -short mode")
				}
				require.NoError(t, password.Verify(v.Password, v.Hash), "written by %s", vf.Tool)
				assert.False(t, password.NeedsRehash(v.Hash, p))
				if p.Memory <= 4096 { // the mismatch path is the same code; check it where cheap
					require.ErrorIs(t, password.Verify(v.Password+"x", v.Hash), password.ErrMismatch)
				}
			})
		}
	}
}

// liveParams are the parameter sets of the live tests: cheap, and covering
// several lanes, odd key lengths and the salt-length bounds.
var liveParams = []password.Params{
	{Memory: 64, Iterations: 1, Parallelism: 1, SaltLength: 16, KeyLength: 32},
	{Memory: 256, Iterations: 3, Parallelism: 4, SaltLength: 16, KeyLength: 32},
	{Memory: 100, Iterations: 2, Parallelism: 3, SaltLength: 8, KeyLength: 17},
	{Memory: 128, Iterations: 1, Parallelism: 16, SaltLength: 64, KeyLength: 128},
	{Memory: 1024, Iterations: 2, Parallelism: 2, SaltLength: 24, KeyLength: 16},
}

var livePasswords = []string{"password", "pässwörd 🔑", "correct horse battery staple", "Tr0ub4dor&3"}

// textSalt returns a reader of n random printable bytes: the argon2 tool
// takes the salt as a command-line argument, so it must be text.
func textSalt(tb testing.TB, n int) *bytes.Reader {
	tb.Helper()
	const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	b := make([]byte, n)
	_, err := rand.Read(b)
	require.NoError(tb, err)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return bytes.NewReader(b)
}

// TestLiveArgon2CLI hashes with this package and with the reference argon2
// tool on the same salt and parameters and requires the same PHC string,
// then verifies the tool's output with this package.
func TestLiveArgon2CLI(t *testing.T) {
	tool, err := exec.LookPath("argon2")
	if err != nil {
		t.Skip("the reference argon2 command-line tool is not installed (Debian package argon2); live interop not tested")
	}
	for i, p := range liveParams {
		pw := livePasswords[i%len(livePasswords)]
		t.Run(fmt.Sprintf("m=%d,t=%d,p=%d,salt=%d,key=%d", p.Memory, p.Iterations, p.Parallelism, p.SaltLength, p.KeyLength), func(t *testing.T) {
			salt := textSalt(t, int(p.SaltLength))
			saltText := make([]byte, salt.Len())
			_, _ = salt.ReadAt(saltText, 0)

			ours, err := password.Hash(pw, p, salt)
			require.NoError(t, err)

			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, tool, string(saltText), "-id",
				"-t", fmt.Sprint(p.Iterations), "-k", fmt.Sprint(p.Memory),
				"-p", fmt.Sprint(p.Parallelism), "-l", fmt.Sprint(p.KeyLength), "-e")
			cmd.Stdin = strings.NewReader(pw)
			out, err := cmd.Output()
			require.NoError(t, err)
			theirs := strings.TrimSpace(string(out))

			assert.Equal(t, theirs, ours)
			require.NoError(t, password.Verify(pw, theirs))
			require.ErrorIs(t, password.Verify(pw+" ", theirs), password.ErrMismatch)
		})
	}
}

// cffiPython finds an interpreter that can import argon2 (argon2-cffi). The
// first python3 on PATH may be a virtual environment without it, so every
// python3 on PATH is tried; FORGEAUTH_ARGON2_PYTHON names one explicitly.
func cffiPython(tb testing.TB) string {
	tb.Helper()
	candidates := []string{os.Getenv("FORGEAUTH_ARGON2_PYTHON")}
	for _, dir := range filepath.SplitList(os.Getenv("PATH")) {
		candidates = append(candidates, filepath.Join(dir, "python3"))
	}
	for _, c := range candidates {
		if c == "" {
			continue
		}
		if err := exec.Command(c, "-c", "import argon2").Run(); err == nil {
			return c
		}
	}
	tb.Skip("no python3 on PATH can import argon2 (Debian package python3-argon2; or set FORGEAUTH_ARGON2_PYTHON); live argon2-cffi interop not tested")
	return ""
}

// cffiScript reads jobs as JSON on stdin and answers on stdout: hashes made
// by argon2-cffi's PasswordHasher, and its verdict on hashes made here.
const cffiScript = `
import json, sys
import argon2
jobs = json.load(sys.stdin)
out = {"hashes": [], "verified": []}
for h in jobs["hash"]:
    ph = argon2.PasswordHasher(time_cost=h["t"], memory_cost=h["m"], parallelism=h["p"],
                               hash_len=h["key"], salt_len=h["salt"])
    out["hashes"].append(ph.hash(h["password"]))
for v in jobs["verify"]:
    try:
        out["verified"].append(argon2.PasswordHasher().verify(v["hash"], v["password"]))
    except argon2.exceptions.VerifyMismatchError:
        out["verified"].append(False)
json.dump(out, sys.stdout)
`

func TestLiveArgon2CFFI(t *testing.T) {
	python := cffiPython(t)

	type hashJob struct {
		Password string `json:"password"`
		M        uint32 `json:"m"`
		T        uint32 `json:"t"`
		P        uint8  `json:"p"`
		Salt     uint32 `json:"salt"`
		Key      uint32 `json:"key"`
	}
	type verifyJob struct {
		Hash     string `json:"hash"`
		Password string `json:"password"`
	}
	var jobs struct {
		Hash   []hashJob   `json:"hash"`
		Verify []verifyJob `json:"verify"`
	}
	var wantVerified []bool
	for i, p := range liveParams {
		pw := livePasswords[i%len(livePasswords)]
		jobs.Hash = append(jobs.Hash, hashJob{pw, p.Memory, p.Iterations, p.Parallelism, p.SaltLength, p.KeyLength})
		ours, err := password.Hash(pw, p, nil)
		require.NoError(t, err)
		jobs.Verify = append(jobs.Verify, verifyJob{ours, pw}, verifyJob{ours, pw + "x"})
		wantVerified = append(wantVerified, true, false)
	}
	in, err := json.Marshal(jobs)
	require.NoError(t, err)

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, python, "-c", cffiScript)
	cmd.Stdin = bytes.NewReader(in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	require.NoError(t, err, "argon2-cffi: %s", stderr.String())
	var res struct {
		Hashes   []string `json:"hashes"`
		Verified []bool   `json:"verified"`
	}
	require.NoError(t, json.Unmarshal(out, &res))

	t.Run("argon2-cffi verifies ours", func(t *testing.T) {
		assert.Equal(t, wantVerified, res.Verified)
	})
	t.Run("we verify argon2-cffi's", func(t *testing.T) {
		require.Len(t, res.Hashes, len(jobs.Hash))
		for i, encoded := range res.Hashes {
			job := jobs.Hash[i]
			got, err := password.Decode(encoded)
			require.NoError(t, err)
			assert.Equal(t, liveParams[i], got)
			require.NoError(t, password.Verify(job.Password, encoded))
			require.ErrorIs(t, password.Verify(job.Password+"x", encoded), password.ErrMismatch)
		}
	})
}
