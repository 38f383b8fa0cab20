// Package examples holds the consumer examples platforms copy: a Go subscriber (go-consumer/,
// nats.go) and a Node.js/TypeScript one (node/, the nats npm package). Its test runs both against
// the real daemon.
package examples
