DROP TRIGGER IF EXISTS [sales].[rowsync_capture_Order]]Lines];
DROP TABLE IF EXISTS [rowsync].[h_sales_Order]]Lines];
