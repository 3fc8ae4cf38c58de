package api

import (
	_ "embed"
	"net/http"

	"github.com/gin-gonic/gin"
)

// openapiJSON documents the whole agent API (OpenAPI 3): sign-in, tickets,
// replies, every pipeline action, queues, units, alerts, KPIs, hot issues.
//
//go:embed openapi.json
var openapiJSON []byte

// OpenAPISpec returns the embedded document. Callers must not modify it.
func OpenAPISpec() []byte { return openapiJSON }

// OpenAPI serves GET /api/v1/openapi.json.
func OpenAPI(c *gin.Context) {
	c.Header("Cache-Control", "public, max-age=300")
	c.Data(http.StatusOK, "application/json; charset=utf-8", openapiJSON)
}
