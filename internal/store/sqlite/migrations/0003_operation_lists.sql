-- Operations listed by account (PaymentStore.Operations), all of them or
-- those of one payment method, in either order of seq.

CREATE INDEX operations_account_seq ON operations (account_id, seq);
CREATE INDEX operations_account_payment_method ON operations (account_id, payment_method_id, seq);
