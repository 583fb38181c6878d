UPDATE [rowsync].[h_dbo_Orders] SET cols = NULL WHERE cols IS NOT NULL;
