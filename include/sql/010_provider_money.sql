-- 010: provider money kept exact. Invoice amounts were numeric(14, 2): 2.675 was stored as
-- 2.68 and 0.004 as 0.00. They now keep six decimals (12 digits before the point, as
-- before); the import refuses what the column cannot hold instead of rounding it.
-- An optional quantity (units of the price-list item: months, TB, GB-months) lets the
-- review reconcile a line with its expected amount (issue 14).
ALTER TABLE infra_review.invoices ALTER COLUMN amount TYPE numeric(18, 6);
ALTER TABLE infra_review.invoices ADD COLUMN quantity numeric(18, 6) CHECK (quantity >= 0);
COMMENT ON COLUMN infra_review.invoices.quantity IS
    'Units of the price-list item the line bills (months, TB, GB-months); NULL: not invoiced';
