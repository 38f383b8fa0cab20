package llm

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"

	"github.com/sentio-health/sentio/config"
)

// ClientConfig says how to reach the endpoint.
type ClientConfig struct {
	// URL is the API base, e.g. http://gpu1:8080/v1; requests go to URL/chat/completions.
	URL string
	// APIKey is sent as a bearer token when not empty. It is never logged or put in errors.
	APIKey string
	// CAFile, CertFile and KeyFile are PEM files: the authorities to trust (empty: the system's)
	// and a client certificate and key for mutual TLS.
	CAFile, CertFile, KeyFile string
}

// Client sends chat-completion requests to one endpoint.
type Client struct {
	url    string
	apiKey string
	http   *http.Client
}

// NewClient returns a client of the endpoint in c, with its TLS files loaded.
func NewClient(c ClientConfig) (*Client, error) {
	base := strings.TrimRight(c.URL, "/")
	if !strings.HasPrefix(base, "http://") && !strings.HasPrefix(base, "https://") {
		return nil, fmt.Errorf("llm: endpoint %q is not an http:// or https:// URL", config.RedactURL(c.URL))
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 64
	if c.CAFile != "" || c.CertFile != "" {
		tc := &tls.Config{MinVersion: tls.VersionTLS12}
		if c.CAFile != "" {
			pem, err := os.ReadFile(c.CAFile)
			if err != nil {
				return nil, fmt.Errorf("llm: reading the CA file: %w", err)
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("llm: CA file %s holds no PEM certificate", c.CAFile)
			}
			tc.RootCAs = pool
		}
		if c.CertFile != "" {
			cert, err := tls.LoadX509KeyPair(c.CertFile, c.KeyFile)
			if err != nil {
				return nil, fmt.Errorf("llm: loading the client certificate: %w", err)
			}
			tc.Certificates = []tls.Certificate{cert}
		}
		tr.TLSClientConfig = tc
	}
	return &Client{url: base + "/chat/completions", apiKey: c.APIKey, http: &http.Client{Transport: tr}}, nil
}

// Endpoint is the URL requests go to, with any password or token in it redacted: it is what
// logs and model information show.
func (c *Client) Endpoint() string { return config.RedactURL(c.url) }

// CloseIdle closes the client's idle connections.
func (c *Client) CloseIdle() { c.http.CloseIdleConnections() }

// StatusError is an answer with an HTTP status other than 200.
type StatusError struct {
	// Code is the HTTP status code.
	Code int
	// Message is the server's error message, shortened. It is not part of Error: a server may
	// quote the request (patient speech) in it; log it at debug level only.
	Message string
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("llm: endpoint answered HTTP %d %s", e.Code, http.StatusText(e.Code))
}

// Temporary reports whether another attempt may succeed (429 and 5xx).
func (e *StatusError) Temporary() bool { return e.Code == http.StatusTooManyRequests || e.Code >= 500 }

// Message is one chat message.
type Message struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

// ChatRequest is the body of a chat-completions request (the fields sentio uses).
type ChatRequest struct {
	Model          string          `json:"model,omitempty"`
	Messages       []Message       `json:"messages"`
	MaxTokens      int             `json:"max_tokens,omitempty"`
	Temperature    float64         `json:"temperature"`
	Seed           *int            `json:"seed,omitempty"`
	Logprobs       bool            `json:"logprobs,omitempty"`
	TopLogprobs    int             `json:"top_logprobs,omitempty"`
	ResponseFormat *ResponseFormat `json:"response_format,omitempty"`
}

// ResponseFormat asks for an answer following a JSON schema.
type ResponseFormat struct {
	Type       string      `json:"type"`
	JSONSchema *JSONSchema `json:"json_schema,omitempty"`
}

// JSONSchema names a schema for response_format.
type JSONSchema struct {
	Name   string          `json:"name"`
	Strict bool            `json:"strict"`
	Schema json.RawMessage `json:"schema"`
}

// ChatResponse is the part of a chat-completions answer sentio reads.
type ChatResponse struct {
	Model   string `json:"model"`
	Choices []struct {
		Message struct {
			Content string `json:"content"`
		} `json:"message"`
		FinishReason string    `json:"finish_reason"`
		Logprobs     *Logprobs `json:"logprobs"`
	} `json:"choices"`
}

// Logprobs are the log-probabilities of the answer's tokens.
type Logprobs struct {
	Content []TokenLogprob `json:"content"`
}

// TokenLogprob is one token of the answer with its log-probability and the most likely tokens at
// its position.
type TokenLogprob struct {
	Token       string       `json:"token"`
	Logprob     float64      `json:"logprob"`
	TopLogprobs []TopLogprob `json:"top_logprobs"`
}

// TopLogprob is a candidate token at a position.
type TopLogprob struct {
	Token   string  `json:"token"`
	Logprob float64 `json:"logprob"`
}

// maxBody bounds the answer read (a sentiment answer is a few hundred bytes, with log-probabilities
// a few hundred kilobytes).
const maxBody = 16 << 20

// Complete sends req and returns the answer. Errors are *StatusError for an HTTP status, the
// context's error when ctx ends, or a transport error (connection refused, TLS).
func (c *Client) Complete(ctx context.Context, req *ChatRequest) (*ChatResponse, error) {
	body, err := json.Marshal(req)
	if err != nil {
		return nil, err
	}
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	hr.Header.Set("Content-Type", "application/json")
	if c.apiKey != "" {
		hr.Header.Set("Authorization", "Bearer "+c.apiKey)
	}
	resp, err := c.http.Do(hr)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("llm: reading the answer: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, &StatusError{Code: resp.StatusCode, Message: errorMessage(b)}
	}
	var out ChatResponse
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, fmt.Errorf("%w: the body is not a chat-completions answer: %v", ErrMalformed, err)
	}
	if len(out.Choices) == 0 {
		return nil, fmt.Errorf("%w: the answer has no choices", ErrMalformed)
	}
	return &out, nil
}

// errorMessage extracts the message of an OpenAI-style error body, shortened.
func errorMessage(b []byte) string {
	var e struct {
		Error struct {
			Message string `json:"message"`
		} `json:"error"`
	}
	msg := strings.TrimSpace(string(b))
	if json.Unmarshal(b, &e) == nil && e.Error.Message != "" {
		msg = e.Error.Message
	}
	if len(msg) > 200 {
		msg = msg[:200] + "…"
	}
	return msg
}

// IsTimeout reports whether err is a deadline exceeded (of an attempt or the transport).
func IsTimeout(err error) bool {
	var ne interface{ Timeout() bool }
	return errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout())
}
