-- Search reads each post's words from a stored column instead of computing to_tsvector(text)
-- again for every match it ranks (ts_rank): under the social mix a search took ~4 ms of
-- PostgreSQL's time, most of it there. Prisma cannot express a generated column or a GIN index,
-- so this migration is hand-written and the schema is unchanged (the column is not in the model).
-- Adding the column rewrites the table once.
ALTER TABLE "posts" ADD COLUMN "search_vector" tsvector GENERATED ALWAYS AS (to_tsvector('english', "text")) STORED;
CREATE INDEX "posts_search_vector_idx" ON "posts" USING GIN ("search_vector");
DROP INDEX "posts_text_fts";
