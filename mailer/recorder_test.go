package mailer_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/forgeauth/forgeauth/mailer"
)

func TestRecorderWaitInOrder(t *testing.T) {
	var r mailer.Recorder
	for i, to := range []string{"a@example.org", "b@example.org", "a@example.org"} {
		require.NoError(t, r.Send(t.Context(), mailer.Message{To: to, Subject: fmt.Sprint(i)}))
	}

	for _, want := range []mailer.Message{{To: "a@example.org", Subject: "0"}, {To: "a@example.org", Subject: "2"}} {
		got, err := r.Wait(t.Context(), "a@example.org")
		require.NoError(t, err)
		assert.Equal(t, want, got)
	}
	got, err := r.Wait(t.Context(), "b@example.org")
	require.NoError(t, err)
	assert.Equal(t, "1", got.Subject)

	assert.Len(t, r.Messages(), 3, "Wait does not consume Messages")
}

func TestRecorderWaitBlocksUntilSend(t *testing.T) {
	var r mailer.Recorder
	done := make(chan mailer.Message)
	go func() {
		m, err := r.Wait(context.Background(), "a@example.org")
		assert.NoError(t, err)
		done <- m
	}()
	require.NoError(t, r.Send(t.Context(), mailer.Message{To: "other@example.org"}))
	require.NoError(t, r.Send(t.Context(), mailer.Message{To: "a@example.org", Subject: "hello"}))
	assert.Equal(t, "hello", (<-done).Subject)
}

func TestRecorderWaitContextEnds(t *testing.T) {
	var r mailer.Recorder
	require.NoError(t, r.Send(t.Context(), mailer.Message{To: "a@example.org"}))
	_, err := r.Wait(t.Context(), "a@example.org")
	require.NoError(t, err)

	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
	defer cancel()
	_, err = r.Wait(ctx, "a@example.org") // the only message was returned already
	require.ErrorIs(t, err, context.DeadlineExceeded)

	ctx, cancel = context.WithCancel(t.Context())
	cancel()
	_, err = r.Wait(ctx, "nobody@example.org")
	require.ErrorIs(t, err, context.Canceled)
}

func TestRecorderMessagesIsACopy(t *testing.T) {
	var r mailer.Recorder
	assert.Empty(t, r.Messages())
	require.NoError(t, r.Send(t.Context(), mailer.Message{To: "a@example.org"}))
	msgs := r.Messages()
	msgs[0].To = "changed"
	assert.Equal(t, "a@example.org", r.Messages()[0].To)
}

func TestRecorderConcurrent(t *testing.T) {
	var r mailer.Recorder
	const n = 50
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			_ = r.Send(context.Background(), mailer.Message{To: "a@example.org", Subject: fmt.Sprint(i)})
		})
		wg.Go(func() {
			_, err := r.Wait(context.Background(), "a@example.org")
			assert.NoError(t, err)
		})
	}
	wg.Wait()
	assert.Len(t, r.Messages(), n)
}
