// Package webhook holds the mechanics of calling merchants back: signing
// (Standard Webhooks, and a seam for each dialect's own signature), the
// retry schedule, the addresses a live account may not call, and one HTTP
// attempt with its classification. The engine owns the deliveries' state;
// this package never touches a store.
package webhook
