package dashboard

// routes registers every page and action. Page builders add theirs here:
// s.get for a page, s.getAdmin for an admins-only page, s.post for an
// action (admins, CSRF-checked).
func (s *Server) routes() {
	s.mux.Handle("GET "+Base+"/login", s.public(s.loginForm))
	s.mux.Handle("POST "+Base+"/login", s.public(s.login))
	s.postSession("/logout", s.logout)
	s.postSession("/account", s.switchAccount)

	// Overview, API keys and users (overview.go, keys.go).
	s.get("/{$}", s.overview)
	s.getAdmin("/keys", s.keys)
	s.post("/keys", s.createKey)
	s.getAdmin("/keys/{id}", s.keyView(""))
	s.getAdmin("/keys/{id}/roll", s.keyView("roll"))
	s.post("/keys/{id}/roll", s.rollKey)
	s.getAdmin("/keys/{id}/revoke", s.keyView("revoke"))
	s.post("/keys/{id}/revoke", s.revokeKey)
	s.post("/users", s.addMember)
	s.getAdmin("/users/{id}", s.memberView(false))
	s.getAdmin("/users/{id}/remove", s.memberView(true))
	s.post("/users/{id}/remove", s.removeMember)
	s.get("/payments", s.payments)
	s.get("/payments/{id}", s.payment)
	// Payment actions and the review queue (issue 17, H7).
	s.post("/payments/{id}/capture", s.capture)
	s.post("/payments/{id}/void", s.void)
	s.post("/payments/{id}/refund", s.refund)
	s.get("/review", s.review)
	s.post("/review/{id}/resolve", s.resolve)
	// Gateways and webhooks (gateways.go, webhooks.go).
	s.get("/gateways", s.gateways)
	s.get("/gateways/{id}", s.gateway)
	s.post("/gateways/{id}/credentials", s.rotateCredentials)
	s.getAdmin("/gateways/{id}/redact", s.redactGatewayConfirm)
	s.post("/gateways/{id}/redact", s.redactGateway)
	s.get("/webhooks", s.webhooks)
	s.get("/webhooks/{id}", s.webhook)
	s.getAdmin("/webhooks/{id}/redeliver", s.redeliverConfirm)
	s.post("/webhooks/{id}/redeliver", s.redeliver)
	s.getAdmin("/webhooks/{id}/recover", s.recoverConfirm)
	s.post("/webhooks/{id}/recover", s.recoverDeliveries)
}
