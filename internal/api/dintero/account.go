package dintero

import (
	"net/http"
	"time"

	"github.com/kassapay/kassa/internal/api"
	"github.com/kassapay/kassa/internal/payment"
)

// accountSettings is the part of Dintero's Account that kassa has.
type accountSettings struct {
	AccountID string         `json:"account_id"`
	Livemode  bool           `json:"livemode"`
	Active    bool           `json:"active"`
	CreatedAt time.Time      `json:"created_at"`
	Company   accountCompany `json:"company"`
}

type accountCompany struct {
	BusinessName string `json:"business_name"`
}

// accountSettings answers GET /v1/accounts/{aid}/management/settings.
func (s *server) accountSettings(w http.ResponseWriter, r *http.Request, c *caller) error {
	a := c.Account
	return api.JSON(w, http.StatusOK, accountSettings{AccountID: payment.DinteroAccountID(a.ID), Livemode: a.Live,
		Active: true, CreatedAt: a.CreatedAt, Company: accountCompany{BusinessName: a.Name}})
}
