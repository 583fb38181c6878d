SELECT t.[id], t.[name], t.[qty], CONVERT(varchar(40), t.[price], 2), CONVERT(varchar(40), t.[at], 121)
FROM [dbo].[Orders] AS t
ORDER BY t.[id];
