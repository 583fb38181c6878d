INSERT INTO [rowsync].[h_sales_Order]]Lines] (op, time_us, origin, k1, k2) SELECT op, time_us, origin, c1, c2 FROM #rowsync_stage_4 ORDER BY n;
