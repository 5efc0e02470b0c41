package ixopay

// transactionRoutes are the transaction API v3's endpoints.
var transactionRoutes = []route{}
