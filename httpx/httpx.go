// Package httpx holds what every HTTP edge of hotline shares: the contract's JSON
// error body, size-limited body reading, request ids and access logs.
package httpx

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
)

// ErrorBody is the contract's error shape.
type ErrorBody struct {
	Error ErrorDetail `json:"error"`
}

// ErrorDetail carries a snake_case code and a human message.
type ErrorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Error aborts the request with the contract's JSON error.
func Error(c *gin.Context, status int, code, msg string) {
	c.AbortWithStatusJSON(status, ErrorBody{ErrorDetail{Code: code, Message: msg}})
}

// ReadBody reads the whole body up to limit bytes. On failure it has already
// answered (413 too large, 400 unreadable) and returns ok=false.
func ReadBody(c *gin.Context, limit int64) ([]byte, bool) {
	if c.Request.ContentLength > limit {
		Error(c, http.StatusRequestEntityTooLarge, "body_too_large", "request body exceeds the configured limit")
		return nil, false
	}
	b, err := io.ReadAll(http.MaxBytesReader(c.Writer, c.Request.Body, limit))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			Error(c, http.StatusRequestEntityTooLarge, "body_too_large", "request body exceeds the configured limit")
		} else {
			Error(c, http.StatusBadRequest, "unreadable_body", "request body could not be read")
		}
		return nil, false
	}
	return b, true
}

// TokenOK compares a presented secret with the configured one in constant time.
// An empty configured secret never matches.
func TokenOK(got, want string) bool {
	if want == "" {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

// RequestIDHeader carries the request id in and out.
const RequestIDHeader = "X-Request-Id"

type ctxKey struct{}

// RequestID assigns every request an id (or keeps a sane incoming one) and
// echoes it in the response.
func RequestID() gin.HandlerFunc {
	return func(c *gin.Context) {
		id := c.GetHeader(RequestIDHeader)
		if id == "" || len(id) > 64 {
			b := make([]byte, 8)
			rand.Read(b)
			id = hex.EncodeToString(b)
		}
		c.Set("request_id", id)
		c.Header(RequestIDHeader, id)
		c.Next()
	}
}

// ID returns the request id of c.
func ID(c *gin.Context) string { return c.GetString("request_id") }

// AccessLog writes one JSON line per request with its id, route and latency.
func AccessLog(log *slog.Logger) gin.HandlerFunc {
	return func(c *gin.Context) {
		start := time.Now()
		c.Next()
		route := c.FullPath()
		if route == "" {
			route = "unmatched"
		}
		lvl := slog.LevelInfo
		if c.Writer.Status() >= 500 {
			lvl = slog.LevelError
		}
		log.Log(c.Request.Context(), lvl, "http",
			"request_id", ID(c), "method", c.Request.Method, "route", route,
			"status", c.Writer.Status(), "ms", float64(time.Since(start).Microseconds())/1000,
			"bytes", c.Writer.Size(), "remote", c.ClientIP())
	}
}

// Recover turns a panic into a 500 with the contract's body and logs it.
func Recover(log *slog.Logger) gin.HandlerFunc {
	return func(c *gin.Context) {
		defer func() {
			if r := recover(); r != nil {
				log.Error("panic", "request_id", ID(c), "panic", r)
				Error(c, http.StatusInternalServerError, "internal", "internal error")
			}
		}()
		c.Next()
	}
}
