package ixopay

// provisioningRoutes are the provisioning API's endpoints (connectors).
var provisioningRoutes = []route{}
